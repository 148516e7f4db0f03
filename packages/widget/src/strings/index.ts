import { en, type CallUsStrings } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';
import { pickStrings, type CallUsLanguage, type ResolvedStrings } from './pick.js';

export type { CallUsLanguage, CallUsStrings };

const builtIn: Record<CallUsLanguage, CallUsStrings> = { en, es, fr };

/** `<call-us-button>`'s strings for a BCP 47 tag (`es-MX` → Spanish), else English. */
export function stringsFor(tag: string): ResolvedStrings<CallUsStrings> {
  return pickStrings(builtIn, tag);
}
