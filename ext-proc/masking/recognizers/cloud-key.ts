import { defineRecognizer } from './recognizer.ts';

/**
 * API credentials with recognisable prefixes, one recognizer so they cost one pass:
 * AWS access key ids (AKIA, ASIA and the other 4-letter id prefixes), GitHub tokens (ghp_,
 * gho_, ghu_, ghs_, ghr_, github_pat_), Slack tokens (xoxa-, xoxb-, xoxp-, xoxr-), Google API
 * keys (AIza), Stripe live secret and restricted keys (sk_live_, rk_live_).
 */
export const cloudKey = defineRecognizer({
  id: 'cloud-key',
  description: 'cloud/API key (AWS, GitHub, Slack, Google, Stripe)',
  source: [
    String.raw`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[0-9A-Z]{16}\b`,
    String.raw`\bgh[pousr]_[A-Za-z0-9]{36}\b`,
    String.raw`\bgithub_pat_[A-Za-z0-9_]{22,}`,
    String.raw`\bxox[abpr]-[A-Za-z0-9-]{10,}`,
    String.raw`\bAIza[0-9A-Za-z_-]{35}`,
    String.raw`\b[rs]k_live_[0-9A-Za-z]{16,}`,
  ].join('|'),
  maxLength: 256,
  alphabet: '[A-Za-z0-9_-]',
});
