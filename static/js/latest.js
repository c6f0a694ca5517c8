// At most one request in flight; the newest drawing wins; nothing queues up.
// request() only marks the drawing as changed: the snapshot (and its PNG) is taken when a request
// can actually leave, so superseded drawings are never even encoded.
export class LatestOnly {
  constructor({ snapshot, send, onResult, onError }) {
    Object.assign(this, { snapshot, send, onResult, onError });
    this.dirty = false;
    this.busy = false;
    this.generation = 0; // bumped by cancel(): answers to older requests are dropped
  }

  request() {
    this.dirty = true;
    if (!this.busy) this.pump();
  }

  cancel() {
    this.dirty = false;
    this.generation += 1;
  }

  async pump() {
    this.busy = true;
    while (this.dirty) {
      this.dirty = false;
      const job = this.snapshot();
      if (!job) continue;
      const generation = this.generation;
      try {
        const result = await this.send(job);
        if (generation === this.generation) this.onResult(result, job);
      } catch (error) {
        if (generation === this.generation) this.onError(error, job);
      }
    }
    this.busy = false;
  }
}
