import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Event } from "../bindings/Event";
import { asCommandError, type Commands, type EngineConnection, type Platform } from "./index";

export const tauriPlatform: Platform = {
  async call<K extends keyof Commands>(cmd: K, req: Commands[K]["req"]) {
    try {
      return await invoke<Commands[K]["res"]>(cmd, req as Record<string, unknown>);
    } catch (e) {
      throw asCommandError(e);
    }
  },
  async onEvent(cb) {
    return listen<Event>("engine-event", (e) => cb(e.payload));
  },
  async onResync(cb) {
    return listen("engine-resync", () => cb());
  },
  async onConnection(cb) {
    return listen<EngineConnection>("engine-connection", (e) => cb(e.payload));
  },
  async onNavigate(cb) {
    return listen<string>("navigate", (e) => cb(e.payload));
  },
};
