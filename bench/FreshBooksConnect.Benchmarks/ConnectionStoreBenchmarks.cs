using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using BenchmarkDotNet.Attributes;
using FreshBooksConnect.Connections;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FreshBooksConnect.Benchmarks;

/// <summary>
/// CPU and allocations of one connection-store call in this process (the table service answers instantly from memory, so
/// what is measured is our code plus the Azure SDK: entity mapping, token encryption, serialization). The lease rows compare
/// the full-row write the lease used before with the two-property merge it uses now.
/// </summary>
[MemoryDiagnoser]
public class ConnectionStoreBenchmarks
{
    private readonly CannedTableService _service = new();
    private ServiceProvider _services = null!;
    private IConnectionStore _store = null!;
    private ConnectionChange _lease = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = "UseDevelopmentStorage=true",
            ["FreshBooks:ClientId"] = "bench-client",
            ["FreshBooks:ClientSecret"] = "bench-secret",
            ["FreshBooks:RedirectUri"] = "https://app.example/api/callback",
            ["TokenProtection:CurrentKeyId"] = "k1",
            ["TokenProtection:Keys:k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Onboarding:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
        var services = new ServiceCollection().AddLogging();
        services.AddFreshBooksConnect(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.Configure<StorageOptions>(o => o.ConfigureClients += clientOptions =>
        {
            if (clientOptions is TableClientOptions)
            {
                clientOptions.Transport = new HttpClientTransport(new HttpClient(_service));
                clientOptions.Retry.MaxRetries = 0;
            }
        });
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<IConnectionStore>();

        // The stored row the reads return is the one the store itself writes.
        var now = DateTimeOffset.UtcNow;
        var connection = new Connection
        {
            Id = "t-acme",
            TenantId = "acme",
            Identity = new FreshBooksIdentity(42, Guid.NewGuid().ToString(), "Ada", "Lovelace", "ada@example.com", [new BusinessMembership(1, "owner", 77, Guid.NewGuid().ToString(), "Engines Ltd", "AC77")]),
            Scopes = "user:profile:read user:clients:read",
            AccessToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant(),
            RefreshToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant(),
            AccessTokenExpiresAt = now.AddHours(12),
            TokenGeneration = 3,
            CreatedAt = now,
            UpdatedAt = now,
            NextRenewalAt = now.AddHours(11),
            Version = "W/\"datetime'2026-11-28T12%3A00%3A00Z'\"",
        };
        await _store.WriteAsync(new ConnectionChange(ConnectionChangeKind.Renewed, connection, connection), default);
        _service.StoreLastWrittenRow();
        _lease = connection.Leased("bench-host/0123456789abcdef", now.AddMinutes(2), now);
    }

    /// <summary>Request body bytes of the two lease writes, for the report.</summary>
    public static async Task<(int Replace, int Merge)> LeaseBodySizesAsync()
    {
        var benchmarks = new ConnectionStoreBenchmarks();
        await benchmarks.SetupAsync();
        await benchmarks.LeaseByReplace();
        var replace = benchmarks._service.LastWriteBytes;
        await benchmarks.LeaseByMerge();
        var merge = benchmarks._service.LastWriteBytes;
        benchmarks.Cleanup();
        return (replace, merge);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Description = "Lease: full-row replace (before)")]
    public Task<WriteResult> LeaseByReplace() => _store.WriteAsync(_lease with { Kind = ConnectionChangeKind.Renewed }, default);

    [Benchmark(Description = "Lease: merge of the two lease fields (after)")]
    public Task<WriteResult> LeaseByMerge() => _store.WriteAsync(_lease, default);

    [Benchmark(Description = "Read a connection (the token API's storage part)")]
    public Task<Connection?> Read() => _store.GetAsync("t-acme", default);

    /// <summary>A table service in memory: writes answer 204 with an ETag, reads answer the last row written.</summary>
    private sealed class CannedTableService : HttpMessageHandler
    {
        private byte[] _lastWrite = [];
        private byte[] _row = [];

        public int LastWriteBytes => _lastWrite.Length;

        public void StoreLastWrittenRow()
        {
            var row = JsonNode.Parse(_lastWrite)!.AsObject();
            row["odata.etag"] = "W/\"datetime'2026-11-28T12%3A00%3A00Z'\"";
            row["Timestamp"] = "2026-11-28T12:00:00Z";
            _row = Encoding.UTF8.GetBytes(row.ToJsonString());
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get)
            {
                var content = new ByteArrayContent(_row);
                content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json;odata=minimalmetadata;streaming=true;charset=utf-8");
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
            }

            _lastWrite = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var response = new HttpResponseMessage(HttpStatusCode.NoContent) { Content = new ByteArrayContent([]) };
            response.Headers.ETag = new EntityTagHeaderValue("\"datetime'2026-11-28T12%3A00%3A01Z'\"", isWeak: true);
            return response;
        }
    }
}
