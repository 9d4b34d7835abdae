import java.io.*;
import java.net.*;

// ConnectTimeout.java - the JDK's connect(addr, timeout) to a peer that never answers the SYN (its accept
// queue is full), then one to a peer that never answers the request, read with no setSoTimeout.
public class ConnectTimeout {
    public static void main(String[] a) throws Exception {
        ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket first = new Socket(InetAddress.getLoopbackAddress(), full.getLocalPort());
        Socket second = new Socket(InetAddress.getLoopbackAddress(), full.getLocalPort());
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), full.getLocalPort()), 1000);
            System.out.println("connected");
        } catch (SocketTimeoutException e) {
            System.out.println("connect timed out");
        }
        ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> { try { Socket c = silent.accept(); Thread.sleep(1500); c.close(); } catch (Exception e) {} });
        t.start();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), silent.getLocalPort()), 2000);
            s.getOutputStream().write("GET\n".getBytes());
            System.out.println("read " + s.getInputStream().read());
        }
        t.join();
    }
}
