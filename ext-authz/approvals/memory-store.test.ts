import { MemoryApprovalStore } from './memory-store.ts';
import { approvalStoreSuite } from './store-suite.ts';
import { testClock } from './test-clock.ts';

approvalStoreSuite('MemoryApprovalStore', async () => {
  const clock = testClock();
  const store = new MemoryApprovalStore({ now: clock.now });
  return { store, clock, close: () => store.close() };
});
