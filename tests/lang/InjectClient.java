// InjectClient: java.net.http.HttpClient with a connect timeout of 1 s, as services configure it;
// one GET, the status or the exception's class printed.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class InjectClient {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(3)).build();
        try {
            HttpResponse<String> resp = client.send(req, HttpResponse.BodyHandlers.ofString());
            System.out.println("status " + resp.statusCode());
        } catch (Exception e) {
            System.out.println("failed " + e.getClass().getSimpleName());
            System.exit(1);
        }
    }
}
