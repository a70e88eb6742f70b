using System.Net;
using System.Net.Sockets;

namespace FreshBooksConnect.EndToEndTests.Infrastructure;

/// <summary>The five ports of one run (run.sh's APP_PORT, EMULATOR_PORT, AZURITE_*_PORT).</summary>
public sealed record RunPorts(int App, int Emulator, int AzuriteBlob, int AzuriteQueue, int AzuriteTable)
{
    public IReadOnlyList<int> All => [App, Emulator, AzuriteBlob, AzuriteQueue, AzuriteTable];

    /// <summary>Five ports free right now (held open together so they differ, then released for run.sh).</summary>
    public static RunPorts Free()
    {
        var listeners = Enumerable.Range(0, 5).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            return new RunPorts(ports[0], ports[1], ports[2], ports[3], ports[4]);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    /// <summary>The ports something still listens on, as address:port (the app port on both loopbacks: it serves <c>localhost</c>).</summary>
    public IReadOnlyList<string> InUse()
    {
        var busy = new List<string>();
        foreach (var port in All)
        {
            var addresses = port == App ? new[] { IPAddress.Loopback, IPAddress.IPv6Loopback } : [IPAddress.Loopback];
            busy.AddRange(addresses.Where(address => !CanListen(address, port)).Select(address => $"{address}:{port}"));
        }

        return busy;
    }

    private static bool CanListen(IPAddress address, int port)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable && address.Equals(IPAddress.IPv6Loopback))
        {
            return true; // no IPv6 on this machine: nothing can be listening there
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
