// summarize.mjs prints the counts of a cache-tests results file (the JSON
// test-engine/cli.mjs prints) by kind, and the tests that did not pass.
// Usage: node summarize.mjs <suite dir> <results.json>
import fs from 'fs'
import path from 'path'

const [suiteDir, resultsFile] = process.argv.slice(2)
const { default: suites } = await import(path.resolve(suiteDir, 'tests/index.mjs'))
const { determineTestResult, resultTypes } = await import(path.resolve(suiteDir, 'test-engine/lib/results.mjs'))
const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))

const counts = { required: [0, 0], optimal: [0, 0], check: [0, 0] }
const failing = []
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only) continue // not run against a proxy
    const kind = test.kind || 'required'
    const r = determineTestResult(suites, test.id, results)
    const ok = r === resultTypes.pass || r === resultTypes.yes
    counts[kind][1]++
    if (ok) counts[kind][0]++
    else if (kind !== 'check') {
      const detail = Array.isArray(results[test.id]) ? results[test.id].slice(0, 2).join(': ') : String(results[test.id])
      failing.push(`${kind}\t${test.id}\t${r[2]}\t${detail}`)
    }
  }
}
console.log(`required ${counts.required[0]}/${counts.required[1]}  optimal ${counts.optimal[0]}/${counts.optimal[1]}  check ${counts.check[0]}/${counts.check[1]} (yes)`)
for (const f of failing) console.log(f)
