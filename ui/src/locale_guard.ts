// Makes `navigator.language` a valid BCP 47 tag before any other module runs.
//
// Under LANG=C or C.UTF-8 WebKitGTK reports the POSIX name "C" as the language; every Intl
// constructor throws on it, and uPlot builds an Intl.NumberFormat when it is imported, which would
// stop the whole bundle and leave the window blank. main.ts imports this module first.

/** The canonical form of `tag`, or `fallback` when `tag` is not a valid BCP 47 language tag. */
export function validLanguage(tag: string | undefined | null, fallback = 'en-US'): string {
  if (!tag) return fallback;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical ?? fallback;
  } catch {
    return fallback;
  }
}

if (typeof navigator !== 'undefined') {
  const reported = navigator.language;
  const usable = validLanguage(reported);
  if (usable !== reported) {
    Object.defineProperty(navigator, 'language', { value: usable, configurable: true });
    Object.defineProperty(navigator, 'languages', { value: [usable], configurable: true });
  }
}
