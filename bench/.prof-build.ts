import { Gateway } from '../src/gateway.ts';
import { silentLogger } from '../src/observe/log.ts';
import { loadConfigFile } from '../src/schema.ts';
const config = loadConfigFile('/tmp/big.yaml');
const t = performance.now();
const g = new Gateway(config, { log: silentLogger });
console.log('build', (performance.now() - t).toFixed(0));
await g.close();
