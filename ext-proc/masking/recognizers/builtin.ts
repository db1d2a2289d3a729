import type { RecognizerId } from '../types.ts';
import { card } from './card.ts';
import { cloudKey } from './cloud-key.ts';
import { email } from './email.ts';
import { iban } from './iban.ts';
import { ipv4 } from './ipv4.ts';
import { ipv6 } from './ipv6.ts';
import { jwt } from './jwt.ts';
import { phone } from './phone.ts';
import { privateKey } from './private-key.ts';
import type { Recognizer } from './recognizer.ts';
import { ssn } from './ssn.ts';

/** Every built-in recognizer by id. */
export const BUILTIN_RECOGNIZERS: ReadonlyMap<RecognizerId, Recognizer> = new Map(
  [card, iban, email, phone, ssn, ipv4, ipv6, jwt, privateKey, cloudKey].map((r) => [r.id, r]),
);
