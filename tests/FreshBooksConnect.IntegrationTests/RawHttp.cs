using System.Net.Sockets;
using System.Text;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>A POST written by hand on a socket, for what HttpClient will not send: a body shorter than its Content-Length, or one sent slowly.</summary>
internal static class RawHttp
{
    /// <summary>Sends the headers, then each of <paramref name="parts"/> with <paramref name="pause"/> between; the status and body of the answer (0 when none came).</summary>
    public static async Task<(int Status, string Body)> SendAsync(AppInstance app, string path, int contentLength, string[] parts, TimeSpan pause, bool endSending)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(app.Host.BaseUri.Host, app.Host.BaseUri.Port);
        var stream = client.GetStream();
        var head = $"POST /{path} HTTP/1.1\r\nHost: {app.Host.BaseUri.Authority}\r\nx-functions-key: {app.Host.FunctionKey}\r\n" +
                   $"Content-Type: application/json\r\nContent-Length: {contentLength}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            foreach (var part in parts)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(part), timeout.Token);
                await stream.FlushAsync(timeout.Token);
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, timeout.Token);
                }
            }
        }
        catch (IOException)
        {
            // The server gave up on the body and closed: its answer is already waiting.
        }

        if (endSending)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }

        var answer = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                answer.Write(buffer, 0, read);
                if (IsComplete(answer))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // Reset after the answer.
        }

        var text = Encoding.UTF8.GetString(answer.ToArray());
        var status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(text.AsSpan(9, 3), out var code) ? code : 0;
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, split < 0 ? text : text[(split + 4)..]);
    }

    private static bool IsComplete(MemoryStream answer)
    {
        var text = Encoding.ASCII.GetString(answer.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return false;
        }

        if (text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
        {
            return true;
        }

        var length = text[..split].Split("\r\n").Select(l => l.Split(':', 2)).FirstOrDefault(p => p.Length == 2 && p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase));
        return length is not null && int.TryParse(length[1].Trim(), out var n) && answer.Length - (split + 4) >= n;
    }
}
