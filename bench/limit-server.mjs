// The limit: a bare node:http server answering every request with a constant endpoint, as fast
// as Node.js can answer at all. snaplink's figures are read as a fraction of this one's.
import { createServer } from 'node:http';

const body = JSON.stringify({
  cloudProvider: 'AWS',
  id: '6650f0c0a1b2c3d4e5f6aaaa',
  privateEndpointConnectionName: 'vpce-0123456789abcdef0',
  regionName: 'US_EAST_1',
  status: 'ACTIVE',
  vpcRegionName: 'US_EAST_1',
});
const list = JSON.stringify({ links: [], results: Array.from({ length: 100 }, () => JSON.parse(body)), totalCount: 100 });
const type = 'application/vnd.atlas.2024-11-13+json;charset=utf-8';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'DELETE') return res.writeHead(204).end();
    const payload = req.method === 'GET' && !/[0-9a-f]{24}$/.test(req.url.split('?')[0]) ? list : body;
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': type, 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
