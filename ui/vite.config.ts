import { defineConfig } from "vite";

// Relative asset paths: the same build is served by `mcpfw daemon` at `/` and loaded from
// files by the desktop app.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No inline scripts or styles anywhere: the Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
