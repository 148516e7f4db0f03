import { pickStrings, type CallUsLanguage, type ResolvedStrings } from '../pick.js';
import { en, type CallPopupStrings } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';

export type { CallPopupStrings };

const builtIn: Record<CallUsLanguage, CallPopupStrings> = { en, es, fr };

/** `<call-popup>`'s strings for a BCP 47 tag (`es-MX` → Spanish), else English. */
export function popupStringsFor(tag: string): ResolvedStrings<CallPopupStrings> {
  return pickStrings(builtIn, tag);
}
