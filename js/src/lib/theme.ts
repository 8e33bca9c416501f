/**
 * Theme: follow JupyterLab's light/dark theme through its `--jp-*` CSS
 * variables, with fallbacks for plain pages (static HTML export), where the
 * browser's `prefers-color-scheme` decides.
 *
 * DOM views use the `--iw-*` variables defined in `styles.ts`; canvas views
 * read concrete colours with `themeColors(el)` and redraw on `watchTheme`.
 */

export interface ThemeColors {
  dark: boolean;
  foreground: string;
  background: string;
  border: string;
  accent: string;
  fontFamily: string;
  monoFontFamily: string;
}

const LIGHT: ThemeColors = {
  dark: false,
  foreground: "#1f1f1f",
  background: "#ffffff",
  border: "#d0d0d0",
  accent: "#e07a00",
  fontFamily: "system-ui, -apple-system, 'Segoe UI', sans-serif",
  monoFontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
};

const DARK: ThemeColors = {
  ...LIGHT,
  dark: true,
  foreground: "#e6e6e6",
  background: "#1e1e1e",
  border: "#4a4a4a",
  accent: "#ffb454",
};

/** The JupyterLab variable each theme colour follows. */
export const JP_VARIABLES: Record<Exclude<keyof ThemeColors, "dark">, string> = {
  foreground: "--jp-ui-font-color1",
  background: "--jp-layout-color1",
  border: "--jp-border-color2",
  accent: "--jp-brand-color1",
  fontFamily: "--jp-ui-font-family",
  monoFontFamily: "--jp-code-font-family",
};

/** True when JupyterLab (or, outside it, the browser) asks for a dark theme. */
export function isDarkTheme(el?: Element): boolean {
  const doc = el?.ownerDocument ?? document;
  const marked = (el?.closest("[data-jp-theme-light]") ?? doc.body?.closest("[data-jp-theme-light]")) as
    | HTMLElement
    | null
    | undefined;
  const flag = marked?.dataset.jpThemeLight;
  if (flag === "true") return false;
  if (flag === "false") return true;
  const win = doc.defaultView;
  return Boolean(win?.matchMedia?.("(prefers-color-scheme: dark)").matches);
}

/** Concrete theme colours at `el`: JupyterLab variables, else fallbacks. */
export function themeColors(el: Element): ThemeColors {
  const dark = isDarkTheme(el);
  const base = dark ? DARK : LIGHT;
  const style = el.ownerDocument.defaultView?.getComputedStyle(el);
  const out: ThemeColors = { ...base };
  for (const [key, variable] of Object.entries(JP_VARIABLES) as [keyof typeof JP_VARIABLES, string][]) {
    const value = style?.getPropertyValue(variable).trim();
    if (value) out[key] = value;
  }
  return out;
}

/**
 * Calls `callback` whenever the theme may have changed (JupyterLab switches
 * `data-jp-theme-light` on <body>; the OS scheme may flip). Returns a cleanup.
 */
export function watchTheme(callback: () => void, doc: Document = document): () => void {
  const observer = new MutationObserver(callback);
  if (doc.body) {
    observer.observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  }
  const query = doc.defaultView?.matchMedia?.("(prefers-color-scheme: dark)");
  query?.addEventListener?.("change", callback);
  return () => {
    observer.disconnect();
    query?.removeEventListener?.("change", callback);
  };
}

/** CSS custom properties (`--iw-*`) that follow the theme, for `styles.ts`. */
export function themeCss(selector: string): string {
  const decl = (t: ThemeColors) =>
    Object.entries(JP_VARIABLES)
      .map(([key, variable]) => `--iw-${key}: var(${variable}, ${t[key as keyof typeof JP_VARIABLES]});`)
      .join(" ");
  return (
    `${selector} { ${decl(LIGHT)} }\n` +
    `@media (prefers-color-scheme: dark) { body:not([data-jp-theme-light]) ${selector} { ${decl(DARK)} } }\n` +
    `[data-jp-theme-light="false"] ${selector} { ${decl(DARK)} }`
  );
}
