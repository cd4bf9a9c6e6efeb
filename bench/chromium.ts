// Headless Chromium with WebGPU, driven by puppeteer-core (the system browser; nothing is
// downloaded). `--enable-unsafe-webgpu` is the one WebGPU flag needed on Linux; Chromium then
// offers its SwiftShader adapter (it takes lavapipe only with Vulkan extensions lavapipe lacks).
// The other flags keep a browser on a machine without network quiet: no background requests, no
// component updates, a fresh profile.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox', // CI runs as root
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export async function launchChromium(executablePath: string): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-chromium-'));
  return puppeteer.launch({ executablePath, headless: true, args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`] });
}
