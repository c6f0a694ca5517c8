// A drawing in a link: the strokes and the model in the URL's fragment (#d=…&m=…), which never reaches the
// server. Each point is two bytes (x and y in 0..254 of the pad's side; 255 ends a stroke), then base64url:
// a digit of a few strokes makes a link of a few hundred characters.
const END = 255;
const SCALE = 254;

export function encodeStrokes(strokes) {
  const bytes = [];
  for (const stroke of strokes) {
    for (const [x, y] of stroke) bytes.push(Math.round(x * SCALE), Math.round(y * SCALE));
    bytes.push(END);
  }
  const binary = String.fromCharCode(...bytes);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeStrokes(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const strokes = [];
  let stroke = [];
  for (let i = 0; i < binary.length; i += 1) {
    const value = binary.charCodeAt(i);
    if (value === END) {
      if (stroke.length) strokes.push(stroke);
      stroke = [];
    } else if (i + 1 < binary.length && binary.charCodeAt(i + 1) !== END) {
      stroke.push([value / SCALE, binary.charCodeAt(i + 1) / SCALE]);
      i += 1;
    } else {
      throw new Error("a point without its y");
    }
  }
  if (stroke.length) strokes.push(stroke);
  return strokes;
}

/** This page's address with the drawing and model in its fragment. */
export function shareUrl(strokes, model) {
  const params = new URLSearchParams({ d: encodeStrokes(strokes) });
  if (model) params.set("m", model);
  const url = new URL(window.location.href);
  url.searchParams.delete("lang"); // the friend reads it in their own language
  url.hash = params.toString();
  return url.toString();
}

/** {strokes, model} from a fragment made by shareUrl, or null (none, or not one of ours). */
export function readShared(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const data = params.get("d");
  if (!data) return null;
  try {
    const strokes = decodeStrokes(data);
    return strokes.length ? { strokes, model: params.get("m") || "" } : null;
  } catch {
    return null;
  }
}
