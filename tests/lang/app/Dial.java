// Dial.java - a class in a package: its frames name the source file under the package's path.
package app;

import java.net.Socket;

public class Dial {
    public static void main(String[] args) {
        try (Socket s = new Socket("127.0.0.1", Integer.parseInt(args[0]))) { // refused
            System.out.println("connected?");
        } catch (Exception e) {
            System.out.println("refused");
        }
    }
}
