// kernlife in a real VS Code: code-server (from npm, on Node 24 from npm, cached outside the clone
// by setup.mjs) with kernlife.vsix installed, driven by Debian's chromium through playwright-core.
// Offline: nothing is downloaded but the npm packages setup.mjs installs once.
//
//   npm run test:e2e                          (packages kernlife.vsix first, then runs this)
//   npm run test:e2e -- --update-screenshots  (also copies the screenshots to docs/images/)
//
// The workspace is a temporary copy of examples/psi_like_{cgroup,trigger}.c. What the editor must
// show is computed by the CLI on that same copy (`kernlife check --format json`), not written here:
//   1. the Problems panel lists every CLI finding at the CLI's line and column, with its message;
//      the hover on waitqueue-freed-while-polled shows the message and its interleaving;
//   2. "kernlife: Next/Previous Trace Step" move the cursor to the CLI's trace steps, across files,
//      and the walk ends when the cursor goes elsewhere;
//   3. the C language status item says the index is ready and holds the workspace's two files;
//   4. the quick fix "Suppress … on this line", picked from the Ctrl+. menu, inserts the
//      kernlife-ignore comment above the line (checked on disk after saving, nothing else changed);
//      the finding leaves the Problems panel, which comes to what the CLI reports on the saved file;
//   5. "kernlife: Simulate Ops Table" from the command palette opens the webview with the table and
//      one sequence diagram per violation the CLI's `simulate` reports.
// Screenshots go to $tmp/screenshots (and docs/images with --update-screenshots); on failure a
// screenshot, the code-server log and the extension's log are kept in the temp dir.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { ensureToolchain } from './setup.mjs';

const repo = path.resolve(new URL('../..', import.meta.url).pathname);
const updateScreenshots = process.argv.includes('--update-screenshots');
const CHROMIUM = process.env.KERNLIFE_E2E_CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();
const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

const FINDING = 'waitqueue-freed-while-polled';
const OTHER = 'private-data-used-after-release';
const FIXTURES = ['psi_like_cgroup.c', 'psi_like_trigger.c'];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitHttp(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try { const r = await fetch(url); if (r.ok) return; } catch { /* not up yet */ }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the CLI says about the workspace copy: the expectations of the UI checks. */
function cli(args, cwd) {
  const r = spawnSync(process.execPath, [path.join(repo, 'dist', 'cli.js'), ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(r.status === 0 || r.status === 1, `kernlife ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

function findFiles(dir, re, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(f, re, out); else if (re.test(e.name)) out.push(f);
  }
  return out;
}

async function main() {
  for (const f of ['kernlife.vsix', 'dist/cli.js']) assert.ok(fs.existsSync(path.join(repo, f)), `${f} missing: run \`npm run test:e2e\` (it packages first)`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`);

  const tc = ensureToolchain();
  log(`toolchain (${tc.mode}) ready in ${tc.seconds.toFixed(1)} s: ${tc.codeServer}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-e2e-'));
  const dirs = Object.fromEntries(['ws', 'home', 'tmp', 'data', 'browser', 'screenshots'].map((d) => [d, path.join(tmp, d)]));
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  for (const f of FIXTURES) fs.copyFileSync(path.join(repo, 'examples', f), path.join(dirs.ws, f));
  const userData = path.join(dirs.data, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'chat.disableAIFeatures': true,
    'files.autoSave': 'off',
    'editor.minimap.enabled': false,
    'window.commandCenter': false,
  }, null, 2));

  // expectations from the CLI, on the same files
  const check = cli(['check', '--format', 'json', '--fail-on', 'none', '.'], dirs.ws);
  const finding = check.findings.find((f) => f.rule === FINDING);
  assert.ok(finding, `the CLI finds ${FINDING} in the workspace copy`);
  assert.ok(check.findings.some((f) => f.rule === OTHER), `the CLI finds ${OTHER} in the workspace copy`);
  const steps = finding.trace.filter((s) => s.file);
  assert.ok(steps.length >= 3, 'a trace with located steps');
  const findingFile = path.basename(finding.file);
  const sim = cli(['simulate', '--format', 'json', path.join(dirs.ws, 'psi_like_cgroup.c'), dirs.ws], dirs.ws);
  const simViolations = sim.tables.flatMap((t) => t.violations ?? []);
  log(`CLI: ${FINDING} at ${findingFile}:${finding.line}, ${steps.length} located trace steps; simulate: ${sim.tables.length} table(s), ${simViolations.length} violation(s)`);

  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  Object.assign(env, {
    HOME: dirs.home, TMPDIR: dirs.tmp,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'), XDG_DATA_HOME: path.join(dirs.home, '.local/share'), XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
    PATH: `${tc.node24Bin}${path.delimiter}${process.env.PATH}`,
  });
  const port = await freePort();
  const configYaml = path.join(dirs.data, 'config.yaml');
  fs.writeFileSync(configYaml, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const base = ['--user-data-dir', userData, '--extensions-dir', path.join(dirs.data, 'extensions'), '--config', configYaml];

  const inst = spawnSync(tc.codeServer, [...base, '--install-extension', path.join(repo, 'kernlife.vsix'), '--force'], { env, encoding: 'utf8', timeout: 120_000 });
  assert.match(inst.stdout + inst.stderr, /successfully installed/, `install-extension:\n${inst.stdout}${inst.stderr}`);
  log('kernlife.vsix installed into code-server');

  const csLog = path.join(tmp, 'code-server.log');
  const out = fs.openSync(csLog, 'a');
  const cs = spawn(tc.codeServer, [...base, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--disable-proxy', '--ignore-last-opened', dirs.ws], { env, detached: true, stdio: ['ignore', out, out] });
  let browser;
  let page;
  let ok = false;
  const exited = new Promise((r) => cs.once('exit', r));
  const stop = async () => {
    try { process.kill(-cs.pid, 'SIGTERM'); } catch { return; }
    const killer = setTimeout(() => { try { process.kill(-cs.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(killer);
  };
  process.on('SIGINT', () => { try { process.kill(-cs.pid, 'SIGTERM'); } catch { /* gone */ } process.exit(130); });
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, 30_000);
    log(`code-server pid ${cs.pid} up on 127.0.0.1:${port}`);

    browser = await chromium.launchPersistentContext(dirs.browser, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 800 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    page = browser.pages()[0] ?? await browser.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.ws)}`);
    await page.locator('.monaco-workbench').waitFor();
    log('workbench visible');
    await page.keyboard.press('Control+B'); // no side bar: room for the editor (cosmetic)
    const shot = async (name) => {
      const file = path.join(dirs.screenshots, `${name}.png`);
      await page.screenshot({ path: file });
      log(`screenshot ${file}`);
    };

    const quickOpen = async (name, line, col) => {
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill(line ? `${name}:${line}:${col}` : name);
      await page.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: name }).waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    };
    const command = async (title) => {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill(`>${title}`);
      await page.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: title }).waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    };
    const cursor = async () => {
      const t = await page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first().innerText();
      const m = /Ln (\d+), Col (\d+)/.exec(t);
      return { line: Number(m[1]), col: Number(m[2]) };
    };
    const activeTab = async () => (await page.locator('.tabs-container .tab.active').first().textContent()) ?? '';
    // the panel's list is virtual and every finding brings its trace as related rows: filter it
    const filterProblems = async (text) => {
      const box = page.locator('.panel .viewpane-filter input, .panel input[placeholder^="Filter"]').first();
      // the box can be re-rendered while the panel opens, dropping what was typed: retype until it holds
      for (let i = 0; i < 10; i++) {
        await box.fill(text);
        await page.waitForTimeout(300);
        if ((await box.inputValue()) === text) return;
      }
      throw new Error(`the Problems filter does not keep ${JSON.stringify(text)}`);
    };

    // a CLI finding as a row of the Problems panel: filter by its rule, collapse everything (each
    // finding brings its trace as related rows, and a hint at the table in the table's file; the
    // list is virtual), open the finding's file, find the row at the finding's line and column
    const rowAt = (f) => page.locator('.markers-panel .monaco-list-row', { hasText: `[Ln ${f.line}, Col ${f.column}]` }).filter({ hasText: f.rule });
    const expectProblem = async (f, timeout = 60_000) => {
      await filterProblems(f.rule);
      await page.locator('.markers-panel .monaco-list-row', { hasText: f.rule }).first().waitFor({ timeout });
      await page.locator('.panel .codicon-collapse-all, .panel .codicon-tree-collapse-all').first().click();
      await page.locator('.markers-panel .monaco-list-row', { hasText: path.basename(f.file) }).first().click();
      await rowAt(f).first().waitFor();
      const text = await rowAt(f).first().innerText();
      assert.ok(text.includes(f.message.slice(0, 40)), `the row carries the message: ${text}`);
      log(`PASS Problems panel: ${f.rule} at ${path.basename(f.file)}:${f.line}:${f.column}`);
    };

    // 1. every finding of the CLI in the Problems panel; the hover on ours
    await quickOpen(findingFile, finding.line, finding.column);
    await page.keyboard.press('Control+Shift+M');
    const others = check.findings.filter((f) => f !== finding);
    for (const [i, f] of [...others, finding].entries()) await expectProblem(f, i ? 60_000 : 180_000);
    await page.locator('.monaco-editor .squiggly-error').first().waitFor();
    // open the finding from its row (the editor gets the focus at the finding), then the hover
    await rowAt(finding).first().click();
    await page.keyboard.press('Enter');
    await command('Show or Focus Hover');
    const hover = page.locator('.monaco-hover', { hasText: FINDING });
    await hover.first().waitFor();
    assert.ok((await hover.first().innerText()).includes('step 1 ('), 'the hover lists the interleaving steps');
    log('PASS hover shows the finding and its trace steps');
    await shot('problems-and-hover');
    await page.keyboard.press('Escape');

    // 2. walking the trace
    const walkTo = async (cmd, k) => {
      await command(cmd);
      const s = steps[k];
      const status = page.locator('.statusbar-item', { hasText: `kernlife step ${k + 1}/${steps.length}` });
      await status.first().waitFor();
      await page.waitForFunction(([file]) => document.querySelector('.tabs-container .tab.active')?.textContent?.includes(file), [path.basename(s.file)]);
      const c = await cursor();
      assert.equal(c.line, s.line, `${cmd}: cursor on step ${k + 1}'s line`);
      const tab = await activeTab();
      assert.ok(tab.includes(path.basename(s.file)), `${cmd}: step ${k + 1}'s file is active (active tab: ${JSON.stringify(tab)})`);
      log(`PASS ${cmd} -> step ${k + 1}/${steps.length} at ${path.basename(s.file)}:${s.line}`);
    };
    await walkTo('kernlife: Next Trace Step', 0);
    await walkTo('kernlife: Next Trace Step', 1);
    await walkTo('kernlife: Previous Trace Step', 0);
    await walkTo('kernlife: Next Trace Step', 1);
    await walkTo('kernlife: Next Trace Step', 2);
    await shot('trace-step');

    // 3. the language status item (the {} next to the language name)
    await page.locator('.statusbar-item', { has: page.locator('.codicon-bracket, .codicon-json') }).first().click();
    const lang = page.locator('.hover-language-status', { hasText: 'kernlife' }).first();
    await lang.waitFor({ timeout: 10_000 });
    const langText = (await lang.innerText()).replace(/\s+/g, ' ');
    assert.match(langText, new RegExp(`kernlife: ${FIXTURES.length} files indexed`), `language status: ${langText}`);
    assert.match(langText, /last analysis /, `language status: ${langText}`);
    log(`PASS language status: ${langText}`);
    await page.keyboard.press('Escape');
    await lang.waitFor({ state: 'hidden' });

    // 4. quick fix from the Ctrl+. menu
    await quickOpen(findingFile, finding.line, finding.column);
    await page.locator('.statusbar-item', { hasText: 'kernlife step' }).waitFor({ state: 'detached' });
    log('PASS the trace walk ended when the cursor left its step');
    await page.keyboard.press('Control+.');
    const fixTitle = `kernlife: Suppress ${FINDING} on this line`;
    await page.locator('.action-widget .monaco-list-row', { hasText: fixTitle }).first().waitFor();
    for (let i = 0; i < 12; i++) {
      const focused = await page.locator('.action-widget .monaco-list-row.focused').first().innerText().catch(() => '');
      if (focused.includes(fixTitle)) break;
      await page.keyboard.press('ArrowDown');
    }
    assert.ok((await page.locator('.action-widget .monaco-list-row.focused').first().innerText()).includes(fixTitle), 'the fix is focused in the menu');
    await shot('quick-fix');
    await page.keyboard.press('Enter');
    await page.locator('.action-widget .monaco-list-row').first().waitFor({ state: 'hidden' });
    await page.keyboard.press('Control+S');
    const file = path.join(dirs.ws, findingFile);
    const original = fs.readFileSync(path.join(repo, 'examples', findingFile), 'utf8').split('\n');
    let fixed = [];
    // (a Ctrl+S pressed while the code-action menu is still closing can be lost: press it again
    // every 2 s until the saved file has the fix)
    for (let i = 0; i < 50 && fixed.length !== original.length + 1; i++) {
      if (i > 0 && i % 10 === 0) await page.keyboard.press('Control+S');
      await page.waitForTimeout(200);
      fixed = fs.readFileSync(file, 'utf8').split('\n');
    }
    assert.equal(fixed.length, original.length + 1, 'the fix inserted one line (saved)');
    assert.match(fixed[finding.line - 1], new RegExp(`^\\s*/\\* kernlife-ignore ${FINDING}: .*\\*/$`), 'the suppression comment is above the finding line');
    assert.deepEqual([...fixed.slice(0, finding.line - 1), ...fixed.slice(finding.line)], original, 'nothing else changed');
    log(`PASS quick fix applied: line ${finding.line} is now ${JSON.stringify(fixed[finding.line - 1].trim())}`);
    // the server re-checks the edited text: the Problems panel must come to what the CLI says
    // about the saved file (suppressing the select rule can bring out a rule it subsumed)
    const recheck = cli(['check', '--format', 'json', '--fail-on', 'none', '.'], dirs.ws);
    assert.ok(!recheck.findings.some((f) => f.rule === FINDING), `the CLI no longer reports ${FINDING}`);
    for (const f of recheck.findings) await expectProblem(f);
    await filterProblems(FINDING);
    await page.locator('.panel').getByText(/Showing 0 of \d+/).first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.markers-panel .monaco-list-row', { hasText: FINDING }).count(), 0, `no ${FINDING} row left`);
    log(`PASS ${FINDING} left the Problems panel; it lists what the CLI finds in the fixed file: ${recheck.findings.map((f) => `${f.rule}@${path.basename(f.file)}:${f.line}`).join(', ')}`);
    await filterProblems('');

    // 5. the simulation view from the command palette
    await quickOpen('psi_like_cgroup.c');
    await page.keyboard.press('Control+J'); // no panel: room for the view (cosmetic)
    await command('kernlife: Simulate Ops Table');
    const view = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await view.locator('h2', { hasText: sim.tables[0].table }).first().waitFor({ timeout: 60_000 });
    const diagrams = await view.locator('svg').count();
    const headings = await view.locator('h3').allInnerTexts();
    assert.equal(diagrams, simViolations.length, `one diagram per violation the CLI reports (${simViolations.length})`);
    for (const v of simViolations) assert.ok(headings.some((h) => h.startsWith(`${v.property}: `)), `a diagram headed ${v.property}`);
    assert.ok(await view.locator('svg g.step').count() > 0, 'the diagrams have steps');
    log(`PASS simulation view: ${diagrams} sequence diagram(s): ${JSON.stringify(headings.map((h) => h.slice(0, 80)))}`);
    await view.locator('h3').first().scrollIntoViewIfNeeded();
    await page.mouse.move(0, 0);
    await shot('simulation');
    ok = true;
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(tmp, 'failure.png') }).catch(() => {});
    throw e;
  } finally {
    await browser?.close().catch(() => {});
    await stop();
    for (const f of findFiles(path.join(userData, 'logs'), /kernlife.*\.log$/)) {
      if (!ok) console.log(`--- ${f}\n${fs.readFileSync(f, 'utf8').split('\n').slice(-60).join('\n')}`);
    }
    if (!ok) console.log(`--- kept for inspection: ${tmp} (code-server.log, failure.png, screenshots/)`);
  }
  if (updateScreenshots) {
    const dest = path.join(repo, 'docs', 'images');
    fs.mkdirSync(dest, { recursive: true });
    for (const f of fs.readdirSync(dirs.screenshots)) fs.copyFileSync(path.join(dirs.screenshots, f), path.join(dest, f));
    log(`screenshots copied to ${dest}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  log('E2E: OK');
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
