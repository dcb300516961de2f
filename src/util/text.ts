// Text helpers shared by the readers and the CLI.

/**
 * A short, printable excerpt of rule text for messages: control and non-ASCII characters
 * escaped, long text cut, so that a binary or hostile file never reaches the terminal as is.
 */
export function excerpt(text: string, max = 100): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0xfffd ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
    if (out.length > max) return `${out.slice(0, max)}...`;
  }
  return out;
}
