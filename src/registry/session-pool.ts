import type { ModelSession } from '../runtime/index.js';
import type { LazySession } from './lazy-session.js';

/**
 * One model's sessions behind the ModelSession interface: `first`, open already, and `more`,
 * each opened in the background the first time a run finds every open session busy (so a
 * version never asked two things at once keeps one). A run goes to the open session with the
 * fewest runs in flight. session.run blocks its worker thread, so runs in flight together
 * need a session (a worker) each to run in parallel.
 */
export function sessionPool(first: ModelSession, more: readonly LazySession[]): ModelSession {
  const inFlight = new Map<ModelSession, number>([[first, 0]]);
  const openMembers = () => [first, ...more.map((m) => m.current()).filter((s): s is ModelSession => s !== undefined)];
  const leastBusy = () => {
    const members = openMembers();
    const busy = members.map((s) => inFlight.get(s) ?? 0);
    if (Math.min(...busy) > 0) more.find((m) => !m.current())?.open();
    return members[busy.indexOf(Math.min(...busy))];
  };
  return {
    provider: first.provider,
    inputs: first.inputs,
    outputs: first.outputs,
    async run(feeds, transfer) {
      const session = leastBusy();
      inFlight.set(session, (inFlight.get(session) ?? 0) + 1);
      try {
        return await session.run(feeds, transfer);
      } finally {
        inFlight.set(session, inFlight.get(session)! - 1);
      }
    },
    async release() {
      await Promise.all([first.release(), ...more.map((m) => m.release())]);
    },
  };
}
