// The 28x28 image the model actually received (the API's `input`), drawn pixel for pixel:
// white ink on black, exactly as MNIST digits look to the network.
export function renderPreview(canvas, grid) {
  const ctx = canvas.getContext("2d");
  canvas.classList.toggle("is-empty", !grid); // an empty frame, not a black square, before anything is drawn
  if (!grid) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  const image = ctx.createImageData(28, 28);
  grid.forEach((row, y) => row.forEach((value, x) => {
    const level = Math.round(Math.min(1, Math.max(0, value)) * 255);
    const i = (y * 28 + x) * 4;
    image.data[i] = image.data[i + 1] = image.data[i + 2] = level;
    image.data[i + 3] = 255;
  }));
  ctx.putImageData(image, 0, 0);
}
