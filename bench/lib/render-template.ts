import { SluiceError } from '../../common/errors.ts';

/*
 * The benches run their own hand-written Envoy files (bare Envoy, jwt_authn, no-op servers side
 * by side) with ${NAME} placeholders; the gateway itself is generated (envoy/generate/).
 */

/** Fills a template's ${NAME} placeholders; a placeholder without a value is an error, never left in. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>, file = 'template'): string {
  const missing = new Set<string>();
  const out = template.replace(/\$\{([A-Z0-9_]+)\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) {
    throw new SluiceError('ERR_CONFIG_INVALID', `${file}: no value for ${[...missing].join(', ')}`, { details: { missing: [...missing] } });
  }
  return out;
}
