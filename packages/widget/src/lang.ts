/** The language an element speaks: the `lang` that applies to it, as HTML resolves it. */

/** `lang` on `start` or its closest ancestor, crossing shadow roots up to the host; else the document's. */
export function inheritedLang(start: Element): string {
  for (let node: Element | null = start; node;) {
    const lang = node.getAttribute('lang');
    if (lang) return lang;
    const parent: Node | null = node.parentNode;
    node = parent instanceof ShadowRoot ? parent.host : parent instanceof Element ? parent : null;
  }
  return document.documentElement.lang;
}
