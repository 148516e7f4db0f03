import { en, type CallUsStrings } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';

export type { CallUsStrings };

/** The languages with built-in strings. */
export type CallUsLanguage = 'en' | 'es' | 'fr';

const builtIn: Record<CallUsLanguage, CallUsStrings> = { en, es, fr };

export interface ResolvedStrings {
  language: CallUsLanguage;
  strings: CallUsStrings;
  /** False when the requested language has no built-in strings and English stood in for it. */
  matched: boolean;
}

function isBuiltIn(language: string): language is CallUsLanguage {
  return Object.hasOwn(builtIn, language);
}

/** Picks built-in strings by the primary subtag of a BCP 47 tag (`es-MX` → `es`), else English. */
export function stringsFor(tag: string): ResolvedStrings {
  const primary = tag.trim().split(/[-_]/)[0]?.toLowerCase() ?? '';
  if (isBuiltIn(primary)) return { language: primary, strings: builtIn[primary], matched: true };
  return { language: 'en', strings: en, matched: false };
}
