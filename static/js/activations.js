// The six hidden activations of the lesson, each with its slope, in the lesson's order. Leaky ReLU's slope is
// the one the models were built with, rendered into the page by the server (app/inference/activations.py).
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
export const LEAKY_SLOPE = Number(document.body?.dataset.leakySlope);
if (!(LEAKY_SLOPE > 0)) throw new Error("the page lacks data-leaky-slope");

// One maxout unit for the plots: two linear pieces, x and -0.5x - 1, so a learnt bend at x = -2/3.
const MAXOUT_PIECES = [[1, 0], [-0.5, -1]];
const maxoutPiece = (x) => (MAXOUT_PIECES[0][0] * x + MAXOUT_PIECES[0][1] >= MAXOUT_PIECES[1][0] * x + MAXOUT_PIECES[1][1] ? 0 : 1);

export const ACTIVATIONS = {
  linear: { f: (x) => x, df: () => 1 },
  sigmoid: { f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  relu: { f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0) },
  "leaky-relu": { f: (x) => (x > 0 ? x : LEAKY_SLOPE * x), df: (x) => (x > 0 ? 1 : LEAKY_SLOPE) },
  maxout: {
    f: (x) => { const [w, b] = MAXOUT_PIECES[maxoutPiece(x)]; return w * x + b; },
    df: (x) => MAXOUT_PIECES[maxoutPiece(x)][0],
  },
};
export const NAMES = Object.keys(ACTIVATIONS);
export { sigmoid };
