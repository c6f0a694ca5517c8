// Live but frugal: at most one request in flight, at most one start per `interval` ms while the pen moves,
// the newest drawing wins and nothing queues. request() only marks the drawing as changed: the snapshot (and
// its PNG) is taken when a request can actually leave, so superseded drawings are never even encoded.
// request({ now: true }) (the pen was lifted, an undo, a new model) skips the interval wait, not the one-in-flight
// rule: it leaves as soon as the request on its way has come back.
export class LatestOnly {
  constructor({ snapshot, send, onResult, onError, interval = 0 }) {
    Object.assign(this, { snapshot, send, onResult, onError, interval });
    this.dirty = false;
    this.urgent = false;
    this.busy = false;
    this.timer = 0;
    this.lastStart = -Infinity;
    this.generation = 0; // bumped by cancel(): answers to older requests are dropped
    this.inFlight = null; // the job on its way, if any
  }

  request({ now = false } = {}) {
    this.dirty = true;
    if (now) this.urgent = true;
    this.schedule();
  }

  cancel() {
    this.dirty = false;
    this.urgent = false;
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = 0;
  }

  /** Start a request now, or arm one timer for when the interval allows it; never a second one in flight. */
  schedule() {
    if (this.busy || !this.dirty) return;
    const wait = this.urgent ? 0 : this.lastStart + this.interval - performance.now();
    if (wait <= 0) {
      clearTimeout(this.timer);
      this.timer = 0;
      this.pump();
    } else if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = 0; this.schedule(); }, wait);
    }
  }

  async pump() {
    this.busy = true;
    this.dirty = false;
    this.urgent = false;
    const job = this.snapshot();
    if (job) {
      const generation = this.generation;
      this.lastStart = performance.now();
      this.inFlight = job;
      try {
        const result = await this.send(job);
        if (generation === this.generation) this.onResult(result, job);
      } catch (error) {
        if (generation === this.generation) this.onError(error, job);
      }
      this.inFlight = null;
    }
    this.busy = false;
    this.schedule();
  }
}
