import { defineConfig } from "vite";

// No React plugin: esbuild's automatic JSX runtime is all the app needs.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2021", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  // A test may wait up to 15 s for each thing it expects (src/testing/setup.ts); the whole test gets
  // room for several such waits on a loaded machine, so only a missing thing fails it.
  test: { environment: "jsdom", include: ["src/**/*.test.ts", "src/**/*.test.tsx"], setupFiles: ["src/testing/setup.ts"], testTimeout: 60000 },
});
