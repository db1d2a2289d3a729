/**
 * A clock for store tests: it follows real time (so real timers and Redis TTLs still line up with
 * it) plus an offset that `advance` moves forward, so a test can jump past an expiry instantly.
 */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}
