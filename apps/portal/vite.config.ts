import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The browser app: web/ → dist/web, served by src/server (assets under /assets/, the document under /t/…).
export default defineConfig({
  root: fileURLToPath(new URL("web", import.meta.url)),
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("dist/web", import.meta.url)),
    emptyOutDir: true,
    // No inline script or style anywhere: the CSP allows only files from the portal's origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: { jsx: { runtime: "automatic" } },
});
