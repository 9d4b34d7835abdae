// Client.java - a refused connect and a read with no timeout, each from a named method.
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;

public class Client {
    static Socket fetchStatus(int port) throws Exception {
        return new Socket("127.0.0.1", port); // nothing listens: refused
    }

    static int readReply(ServerSocket srv) throws Exception {
        Socket c = new Socket("127.0.0.1", srv.getLocalPort());
        OutputStream out = c.getOutputStream();
        out.write("GET\n".getBytes());
        InputStream in = c.getInputStream();
        return in.read(); // no timeout
    }

    public static void main(String[] args) throws Exception {
        try {
            fetchStatus(Integer.parseInt(args[0]));
        } catch (java.net.ConnectException e) {
            System.out.println("refused: " + e.getMessage());
        }
        ServerSocket srv = new ServerSocket(0);
        Thread t = new Thread(() -> {
            try (Socket conn = srv.accept()) {
                conn.setSoTimeout(10000);
                conn.getInputStream().read(new byte[100]);
                Thread.sleep(1200); // the scenario: a slow server
                conn.getOutputStream().write("OK\n".getBytes());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        t.start();
        System.out.println("reply: " + (char) readReply(srv));
        t.join();
    }
}
