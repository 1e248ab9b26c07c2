import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { NbdClient } from "../../../src/core/content-hash/nbd-client.ts";
import { tempDir } from "../../helpers/images.ts";

/** A Unix-socket server that answers each connection with `greet`. */
async function server(path: string, greet: (socket: Socket) => void): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const listening = createServer((socket) => {
    sockets.add(socket);
    greet(socket);
  });
  await new Promise<void>((resolve) => listening.listen(path, resolve));
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => listening.close(resolve));
  };
}

describe("NbdClient", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("refuses a server that is not fixed-newstyle NBD, and one that hangs up during the handshake", async () => {
    const liar = join(dir, "liar.sock");
    const stopLiar = await server(liar, (socket) => socket.end(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")));
    await assert.rejects(
      NbdClient.connect(liar, () => false),
      { code: "qemu-img-failed", message: /not a fixed-newstyle/ },
    );
    await stopLiar();
    const quitter = join(dir, "quitter.sock");
    const stopQuitter = await server(quitter, (socket) => socket.end());
    await assert.rejects(
      NbdClient.connect(quitter, () => false),
      {
        code: "qemu-img-failed",
        message: /closed the connection during the handshake/,
      },
    );
    await stopQuitter();
  });

  it("stops waiting for a socket that never appears once the server is gone", async () => {
    await assert.rejects(
      NbdClient.connect(join(dir, "never.sock"), () => true),
      {
        code: "qemu-img-failed",
        message: /cannot connect/,
      },
    );
  });
});
