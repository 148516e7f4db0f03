/** Colour helpers for the `button-color` attribute: parsing it and picking a readable text colour. */

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * `#rrggbb` (lower case) for a `#rgb` or `#rrggbb` value, else undefined. Anything else is refused
 * because the value ends up in a CSS declaration: only this exact shape can never break out of it.
 */
export function parseHexColor(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim() ?? '';
  if (!HEX_COLOR.test(trimmed)) return undefined;
  const digits = trimmed.slice(1).toLowerCase();
  return digits.length === 3 ? `#${[...digits].map((digit) => digit + digit).join('')}` : `#${digits}`;
}

/** WCAG 2 relative luminance of a `#rrggbb` colour (0 for black, 1 for white). */
export function relativeLuminance(hex: string): number {
  const channel = (offset: number): number => {
    const value = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours, from 1 to 21. */
export function contrastRatio(first: string, second: string): number {
  const [light, dark] = [relativeLuminance(first), relativeLuminance(second)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/**
 * Black or white, whichever contrasts more with `background`. One of the two always reaches at least
 * 4.58:1 (the worst case is a background of luminance ≈ 0.18), so the text passes WCAG AA.
 */
export function readableTextColor(background: string): '#000000' | '#ffffff' {
  return contrastRatio(background, '#000000') > contrastRatio(background, '#ffffff') ? '#000000' : '#ffffff';
}
