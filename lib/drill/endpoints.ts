/**
 * The primary's endpoints in a drill: a real HTTP server and a real TCP server on 127.0.0.1, whose
 * behaviour the scenario changes over (simulated) time.
 *
 *   up    HTTP answers 200 "ok"; TCP accepts
 *   down  nothing listens: connections are refused (the instance or its service is gone)
 *   slow  both accept, but HTTP answers only after `slowMs` (longer than the probes' timeout): a hung app
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';

export type EndpointMode = 'up' | 'down' | 'slow';

export class LocalPrimary {
  mode: EndpointMode = 'up';
  private readonly http: HttpServer;
  private readonly tcp: TcpServer;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly httpPort: number,
    readonly tcpPort: number,
    http: HttpServer,
    tcp: TcpServer,
    private readonly slowMs: number,
  ) {
    this.http = http;
    this.tcp = tcp;
  }

  static async start(options: { slowMs?: number } = {}): Promise<LocalPrimary> {
    let primary: LocalPrimary | undefined;
    const http = createHttpServer((req, res) => {
      const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (primary?.mode === 'slow') {
        const timer = setTimeout(() => {
          primary?.timers.delete(timer);
          if (!res.destroyed) answer();
        }, primary.slowMs);
        primary.timers.add(timer);
      } else {
        answer();
      }
    });
    const tcp = createTcpServer((socket) => socket.end());
    for (const server of [http, tcp]) server.on('connection', (socket: Socket) => primary?.track(socket));
    const httpPort = await listen(http, 0);
    const tcpPort = await listen(tcp, 0);
    primary = new LocalPrimary(httpPort, tcpPort, http, tcp, options.slowMs ?? 1500);
    return primary;
  }

  /** Change behaviour. Going down closes the listeners and every open connection. */
  async setMode(mode: EndpointMode): Promise<void> {
    if (mode === this.mode) return;
    const wasListening = this.mode !== 'down';
    this.mode = mode;
    if (mode === 'down' && wasListening) {
      this.dropConnections();
      await Promise.all([close(this.http), close(this.tcp)]);
    } else if (mode !== 'down' && !wasListening) {
      await listen(this.http, this.httpPort);
      await listen(this.tcp, this.tcpPort);
    }
  }

  async stop(): Promise<void> {
    this.dropConnections();
    if (this.mode !== 'down') await Promise.all([close(this.http), close(this.tcp)]);
    this.mode = 'down';
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private dropConnections(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

function listen(server: HttpServer | TcpServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function close(server: HttpServer | TcpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
