/** The languages with built-in strings, and how an element picks its own. */

/** The languages with built-in strings. */
export type CallUsLanguage = 'en' | 'es' | 'fr';

export interface ResolvedStrings<T> {
  language: CallUsLanguage;
  strings: T;
  /** False when the requested language has no built-in strings and English stood in for it. */
  matched: boolean;
}

/**
 * Picks an element's built-in strings by the primary subtag of a BCP 47 tag (`es-MX` → `es`), else
 * English. Each element passes its own table, so a bundle carries only its own element's strings.
 */
export function pickStrings<T>(table: Record<CallUsLanguage, T>, tag: string): ResolvedStrings<T> {
  const primary = tag.trim().split(/[-_]/)[0]?.toLowerCase() ?? '';
  if (Object.hasOwn(table, primary)) {
    const language = primary as CallUsLanguage;
    return { language, strings: table[language], matched: true };
  }
  return { language: 'en', strings: table.en, matched: false };
}
