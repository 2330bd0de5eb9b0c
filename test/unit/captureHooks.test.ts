/** The capture hooks' stable copy that VS Code terminals name (src/extension/terminals/captureHooks.ts). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { stableCaptureDir } from '../../src/extension/terminals/captureHooks';

function extensionBuild(version: string): string {
  const ext = fs.mkdtempSync(path.join(os.tmpdir(), `burnrate-ext-${version}-`));
  fs.mkdirSync(path.join(ext, 'dist', 'capture', 'python'), { recursive: true });
  fs.writeFileSync(path.join(ext, 'dist', 'capture', 'preload.js'), `// ${version}\n`);
  fs.writeFileSync(path.join(ext, 'dist', 'capture', 'python', 'sitecustomize.py'), `# ${version}\n`);
  return ext;
}

test('an update keeps the path terminals name and replaces what is there', () => {
  const storage = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-storage-')), 'publisher.burnrate');
  const first = stableCaptureDir(extensionBuild('0.1.0'), storage);
  assert.equal(first, path.join(storage, 'capture'));
  assert.equal(fs.readFileSync(path.join(first, 'preload.js'), 'utf8'), '// 0.1.0\n');
  const second = stableCaptureDir(extensionBuild('0.2.0'), storage);
  assert.equal(second, first, 'the same path after an update');
  assert.equal(fs.readFileSync(path.join(second, 'preload.js'), 'utf8'), '// 0.2.0\n');
  assert.equal(fs.readFileSync(path.join(second, 'python', 'sitecustomize.py'), 'utf8'), '# 0.2.0\n');
  assert.deepEqual(fs.readdirSync(storage), ['capture'], 'no temporary copy left behind');
});

test("when the copy cannot be made, the build's own folder is named", () => {
  const ext = extensionBuild('0.1.0');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-storage-')), 'not-a-folder');
  fs.writeFileSync(file, '');
  assert.equal(stableCaptureDir(ext, file), path.join(ext, 'dist', 'capture'));
});

test('another window starting with the same build leaves the copy in place', () => {
  const storage = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-storage-')), 'publisher.burnrate');
  const ext = extensionBuild('0.1.0');
  const dir = stableCaptureDir(ext, storage);
  const before = fs.statSync(path.join(dir, 'preload.js')).ino;
  assert.equal(stableCaptureDir(ext, storage), dir);
  assert.equal(fs.statSync(path.join(dir, 'preload.js')).ino, before, 'not copied again');
});
