/** Vote bodies are a reason and nothing else. */
export const MAX_BODY_BYTES = 16 * 1024;
