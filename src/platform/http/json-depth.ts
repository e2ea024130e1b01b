const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether the JSON text nests arrays and objects deeper than `maxDepth`, found in one pass over the raw
 * bytes before anything parses them. Brackets inside strings do not count; UTF-8 never puts these ASCII
 * bytes inside a multi-byte character, so bytes are as good as characters here. Malformed JSON is left
 * to the parser: this only answers "too deep?".
 */
export function exceedsJsonDepth(body: Uint8Array, maxDepth: number): boolean {
  // A body this short cannot open more than maxDepth brackets: the common case costs nothing.
  if (body.length <= maxDepth) {
    return false;
  }
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) {
        i++; // the escaped character, whatever it is, cannot end the string
      } else if (byte === QUOTE) {
        inString = false;
      }
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > maxDepth) {
        return true;
      }
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
