/** Escapes text for element content and attribute values. */
export function escapeXml(text: string): string {
  // Fast path: most values need no escaping.
  if (!/[<>&"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text)) return text;
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // After &: a literal CR would reach the reader as LF (XML end-of-line handling); a character reference keeps it (CSV's CRLF).
    .replace(/\r/g, '&#13;');
}
