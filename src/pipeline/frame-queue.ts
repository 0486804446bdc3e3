/** A bounded async queue: the producer waits when it is full, the consumer when it is empty. */
export function createBoundedQueue<T>(capacity: number) {
  const items: T[] = [];
  let closed = false;
  let failure: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  return {
    async push(item: T): Promise<void> {
      while (items.length >= capacity && !closed) await new Promise<void>((r) => (wakeProducer = r));
      items.push(item);
      wake();
    },
    close(err?: unknown): void {
      closed = true;
      failure ??= err;
      wake();
      wakeProducer?.();
    },
    /** Up to `max` items once any is available; [] when closed and drained. Rethrows a producer error. */
    async take(max: number): Promise<T[]> {
      while (items.length === 0 && !closed) await new Promise<void>((r) => (wakeConsumer = r));
      if (failure !== undefined && items.length === 0) throw failure;
      const batch = items.splice(0, max);
      wakeProducer?.();
      wakeProducer = undefined;
      return batch;
    },
  };
}
