/** Light or dark: the visitor's choice (kept in this browser), else their system's. */
export type Theme = "light" | "dark";

const KEY = "herald-portal:theme";

export function initialTheme(): Theme {
  const chosen = localStorage.getItem(KEY);
  if (chosen === "light" || chosen === "dark") return chosen;
  // ?theme= lets an embedding application match its own look.
  const asked = new URLSearchParams(location.search).get("theme");
  if (asked === "light" || asked === "dark") return asked;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(theme: Theme, remember: boolean): void {
  document.documentElement.dataset.theme = theme;
  if (remember) localStorage.setItem(KEY, theme);
}

/**
 * The tenant's brand colour as the accent, set through the CSSOM (which the CSP allows, unlike a style
 * attribute). The text on it is black or white, whichever contrasts more.
 */
export function applyBrand(color: string): void {
  if (!/^#[0-9a-fA-F]{6}$/.test(color)) return;
  const style = document.documentElement.style;
  style.setProperty("--brand", color);
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  style.setProperty("--on-brand", luminance > 0.179 ? "#000000" : "#ffffff");
}
