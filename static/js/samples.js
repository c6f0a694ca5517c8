// Hand-written example digits as strokes in unit coordinates: "Draw an example" lets a person without a
// pointing device (or in a hurry) see the whole page work. Curves are sampled from simple arcs.

function arc(cx, cy, rx, ry, from, to, steps = 24) {
  const points = [];
  for (let i = 0; i <= steps; i += 1) {
    const a = ((from + ((to - from) * i) / steps) * Math.PI) / 180;
    points.push([cx + rx * Math.cos(a), cy + ry * Math.sin(a)]);
  }
  return points;
}

export const SAMPLES = {
  0: [arc(0.5, 0.5, 0.22, 0.33, -90, 270, 36)],
  1: [[[0.42, 0.25], [0.54, 0.15], [0.54, 0.85]]],
  2: [[...arc(0.5, 0.35, 0.2, 0.18, 200, 380, 16), [0.58, 0.55], [0.3, 0.85], [0.74, 0.85]]],
  3: [[...arc(0.48, 0.33, 0.2, 0.17, 210, 450, 18), ...arc(0.48, 0.66, 0.22, 0.18, -90, 150, 18)]],
  4: [[[0.56, 0.15], [0.28, 0.6], [0.76, 0.6]], [[0.6, 0.35], [0.6, 0.85]]],
  5: [[[0.7, 0.16], [0.36, 0.16], [0.33, 0.46], ...arc(0.48, 0.63, 0.22, 0.2, -120, 150, 18)]],
  6: [[[0.64, 0.15], [0.4, 0.4], ...arc(0.5, 0.65, 0.2, 0.19, 180, 540, 28)]],
  7: [[[0.27, 0.18], [0.73, 0.18], [0.45, 0.85]]],
  8: [[...arc(0.5, 0.32, 0.16, 0.16, 90, 450, 24), ...arc(0.5, 0.66, 0.2, 0.18, -90, 270, 28)]],
  9: [[...arc(0.5, 0.35, 0.19, 0.18, 0, 360, 24), [0.69, 0.5], [0.62, 0.85]]],
};

let next = Math.floor(Math.random() * 10);
/** The next example digit (cycling, so repeated presses show different digits). */
export function nextSample() {
  const digit = next;
  next = (next + 1) % 10;
  return { digit, strokes: SAMPLES[digit] };
}
