// A two-dimensional toy trained in the page: a few hundred points in two classes (a disc inside a ring), a
// network with one hidden layer of HIDDEN units and a sigmoid output read as "inside" when it is at least 0.5.
// With no activation the boundary can only be a straight line; with any of the others it bends round the disc.
import { ACTIVATIONS, sigmoid } from "./activations.js";

const HIDDEN = 12;
const POINTS = 300;
const STEPS = 600; // full-batch Adam steps: enough for every non-linear activation to wrap the disc
const STEPS_PER_FRAME = 25;
const LEARNING_RATE = 0.05;
const GRID = 60; // the background is coloured on a GRID×GRID lattice of the network's output

/** A small seeded generator (mulberry32): the same points and start for the same seed, in every browser. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makePoints(seed = 7) {
  const rand = random(seed);
  return Array.from({ length: POINTS }, (_, i) => {
    const inside = i % 2 === 0;
    const r = inside ? 0.45 * Math.sqrt(rand()) : 0.65 + 0.3 * rand();
    const a = 2 * Math.PI * rand();
    return { x: [r * Math.cos(a), r * Math.sin(a)], y: inside ? 1 : 0 };
  });
}

/** One hidden layer (maxout: two linear pieces per unit, the larger wins), one sigmoid output. */
export class ToyNet {
  constructor(activation, seed = 1) {
    this.activation = activation;
    this.pieces = activation === "maxout" ? 2 : 1;
    const rand = random(seed);
    const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    const n = HIDDEN * this.pieces;
    this.params = {
      w1: Float64Array.from({ length: n * 2 }, () => normal()),
      b1: Float64Array.from({ length: n }, () => 0.5 * normal()),
      w2: Float64Array.from({ length: HIDDEN }, () => normal() / Math.sqrt(HIDDEN)),
      b2: new Float64Array(1),
    };
    this.moments = Object.fromEntries(Object.entries(this.params).map(([k, v]) => [k, [new Float64Array(v.length), new Float64Array(v.length)]]));
    this.t = 0;
  }

  /** Hidden pre-activations, winning pieces, activations and the output for one point. */
  forward([x0, x1]) {
    const { w1, b1, w2, b2 } = this.params;
    const { f } = ACTIVATIONS[this.activation];
    const z = new Float64Array(HIDDEN);
    const piece = new Int8Array(HIDDEN);
    const a = new Float64Array(HIDDEN);
    let out = b2[0];
    for (let j = 0; j < HIDDEN; j += 1) {
      let best = -Infinity;
      for (let k = 0; k < this.pieces; k += 1) {
        const u = j * this.pieces + k;
        const value = w1[2 * u] * x0 + w1[2 * u + 1] * x1 + b1[u];
        if (value > best) { best = value; piece[j] = k; }
      }
      z[j] = best;
      a[j] = this.activation === "maxout" ? best : f(best);
      out += w2[j] * a[j];
    }
    return { z, piece, a, p: sigmoid(out) };
  }

  predict(point) { return this.forward(point).p; }

  /** One full-batch step of Adam on the mean cross-entropy. */
  step(points) {
    const { w2 } = this.params;
    const { df } = ACTIVATIONS[this.activation];
    const grads = Object.fromEntries(Object.entries(this.params).map(([k, v]) => [k, new Float64Array(v.length)]));
    for (const { x, y } of points) {
      const { z, piece, a, p } = this.forward(x);
      const dOut = (p - y) / points.length;
      grads.b2[0] += dOut;
      for (let j = 0; j < HIDDEN; j += 1) {
        grads.w2[j] += dOut * a[j];
        const dz = dOut * w2[j] * (this.activation === "maxout" ? 1 : df(z[j]));
        const u = j * this.pieces + piece[j];
        grads.w1[2 * u] += dz * x[0];
        grads.w1[2 * u + 1] += dz * x[1];
        grads.b1[u] += dz;
      }
    }
    this.t += 1;
    for (const [k, param] of Object.entries(this.params)) {
      const [m, v] = this.moments[k];
      const g = grads[k];
      for (let i = 0; i < param.length; i += 1) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        const mHat = m[i] / (1 - 0.9 ** this.t);
        const vHat = v[i] / (1 - 0.999 ** this.t);
        param[i] -= (LEARNING_RATE * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
    }
  }

  accuracy(points) {
    return points.filter(({ x, y }) => (this.predict(x) >= 0.5 ? 1 : 0) === y).length / points.length;
  }
}

/** Draw the output as a background (blue: "inside", orange: "outside", paler when unsure), the 0.5 line as
 * the boundary, and the points: filled circles inside, hollow squares outside (shape, not only colour). */
export function drawToy(canvas, net, points) {
  const size = canvas.width;
  const ctx = canvas.getContext("2d");
  const cell = size / GRID;
  const toPixel = (v) => ((v + 1) / 2) * size;
  for (let gy = 0; gy < GRID; gy += 1) {
    for (let gx = 0; gx < GRID; gx += 1) {
      const p = net.predict([(gx + 0.5) / GRID * 2 - 1, (gy + 0.5) / GRID * 2 - 1]);
      const strength = Math.min(1, Math.abs(p - 0.5) * 2);
      ctx.fillStyle = p >= 0.5 ? `rgba(29, 53, 87, ${0.05 + 0.22 * strength})` : `rgba(231, 111, 81, ${0.05 + 0.22 * strength})`;
      ctx.fillRect(gx * cell, gy * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  const dot = Math.max(2, size / 110);
  for (const { x, y } of points) {
    const [px, py] = [toPixel(x[0]), toPixel(x[1])];
    ctx.beginPath();
    if (y) {
      ctx.fillStyle = "#1d3557";
      ctx.arc(px, py, dot, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.strokeStyle = "#9c3d1f";
      ctx.lineWidth = Math.max(1, dot / 2);
      ctx.strokeRect(px - dot, py - dot, 2 * dot, 2 * dot);
    }
  }
}

/** Train `net` a few steps per animation frame, redrawing as it goes; resolves with the final accuracy. */
export function train(net, points, onFrame) {
  return new Promise((resolve) => {
    let done = 0;
    const frame = () => {
      for (let i = 0; i < STEPS_PER_FRAME && done < STEPS; i += 1, done += 1) net.step(points);
      onFrame(done, STEPS);
      if (done < STEPS) requestAnimationFrame(frame);
      else resolve(net.accuracy(points));
    };
    requestAnimationFrame(frame);
  });
}
