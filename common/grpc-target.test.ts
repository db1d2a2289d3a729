import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcTarget } from './grpc-target.ts';

test('several IP replicas become one grpc-js target the channel fails over across; a name or a single one stays host:port', () => {
  assert.equal(grpcTarget([{ host: '127.0.0.1', port: 9001 }, { host: '127.0.0.1', port: 9011 }]), 'ipv4:127.0.0.1:9001,127.0.0.1:9011');
  assert.equal(grpcTarget([{ host: '::1', port: 9001 }, { host: '::1', port: 9011 }]), 'ipv6:[::1]:9001,[::1]:9011');
  assert.equal(grpcTarget([{ host: '127.0.0.1', port: 9001 }]), '127.0.0.1:9001');
  assert.equal(grpcTarget([{ host: 'authz.internal', port: 9001 }, { host: '10.0.0.2', port: 9001 }]), 'authz.internal:9001');
  assert.equal(grpcTarget([{ host: '::1', port: 9001 }]), '[::1]:9001');
  assert.throws(() => grpcTarget([]));
});
