// The JSON API as the page uses it; errors carry the server's own {"detail": "..."} message.
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function request(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch { /* an empty or non-JSON body */ }
  if (!response.ok) throw new ApiError(response.status, body?.detail ?? response.statusText);
  return body;
}

function post(path, payload) {
  return request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
}

export const listModels = () => request("/models");
export const modelCard = (id) => request(`/models/${encodeURIComponent(id)}`);
export const predict = (image, model, explain = false) => post("/predict", { image, model: model || undefined, explain });
export const compare = (image) => post("/predict/compare", { image });
export const lessonRuns = () => request("/lesson/runs.json");
