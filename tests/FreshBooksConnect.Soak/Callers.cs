using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace FreshBooksConnect.Soak;

/// <summary>
/// One kind of SaaS traffic against the app instances. Each caller loops until cancelled, picks a random connection and a
/// random running instance, and reports every answer to <see cref="AppAnswers"/> (which checks status and Retry-After) and every
/// token it is handed to <see cref="Callers.CheckServed"/>.
/// The roster is <see cref="Callers.Roster"/>.
/// </summary>
internal interface ICaller
{
    string Name { get; }

    Task RunAsync(SoakStack stack, Customers customers, Random random, CancellationToken cancellationToken);
}

internal static class Callers
{
    /// <summary>The traffic of a soak: three token callers, two 401 callers and two proxy callers.</summary>
    public static IReadOnlyList<ICaller> Roster(bool settling) =>
        [new TokenCaller(), new TokenCaller(), new TokenCaller(), new RejectedTokenCaller(settling), new RejectedTokenCaller(settling), new ProxyCaller(), new ProxyCaller()];

    /// <summary>
    /// A token an instance handed out must not be one FreshBooks had killed (or that had expired) before it was asked for; such a
    /// token is kept for the end, when the soak knows whether the pair that killed it was one the app never got.
    /// </summary>
    public static void CheckServed(SoakStack stack, string route, int instance, string connectionId, string token, DateTimeOffset askedAt)
    {
        // Times are taken in this process for both the ask and FreshBooks' answers (the relay books them): a margin covers only
        // the booking of an answer a moment after FreshBooks processed it.
        var margin = TimeSpan.FromMilliseconds(250);
        var pair = stack.Ledger.ByAccessToken(token);
        var dead = pair is null
            || pair.KilledAt < askedAt - margin
            || pair.IssuedAt + stack.Options.TokenLife < askedAt - TimeSpan.FromSeconds(2);
        if (dead)
        {
            stack.Answers.Dead(new DeadTokenServed(askedAt, route, instance, connectionId, pair, token));
        }
    }

    public static async Task<(int Instance, string ConnectionId, string Token, string? AccountId)?> GetTokenAsync(
        SoakStack stack, Customer customer, Random random, CancellationToken cancellationToken)
    {
        if (stack.PickUp(random) is not { } instance)
        {
            return null;
        }

        var askedAt = DateTimeOffset.UtcNow;
        using var response = await stack.SendAsync(instance, new HttpRequestMessage(HttpMethod.Get, new Uri(instance.BaseUri, $"api/connections/{customer.ConnectionId}/token")), cancellationToken);
        if (response is null)
        {
            return null;
        }

        await stack.Answers.RecordAsync("GET /api/connections/{id}/token", instance.Index, response);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            customer.ToldToReconsent |= response.StatusCode == HttpStatusCode.Conflict;
            return null;
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var token = body.GetProperty("accessToken").GetString()!;
        CheckServed(stack, "GET /api/connections/{id}/token", instance.Index, customer.ConnectionId, token, askedAt);
        var account = body.GetProperty("businesses").EnumerateArray().Select(b => b.GetProperty("accountId").GetString()).FirstOrDefault(a => a is not null);
        return (instance.Index, customer.ConnectionId, token, account);
    }

    /// <summary>Asks for tokens of random connections on random instances.</summary>
    private sealed class TokenCaller : ICaller
    {
        public string Name => "token";

        public async Task RunAsync(SoakStack stack, Customers customers, Random random, CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await GetTokenAsync(stack, customers.Pick(random), random, cancellationToken);
                await Task.Delay(random.Next(100, 400), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Calls FreshBooks through the app's proxy (<c>/api/connections/{id}/freshbooks/…</c>), as a SaaS backend that never holds a
    /// token does: <c>users/me</c>, then the clients of the connection's first accounting account, each on a random instance. The
    /// app renews and resends on a 401 itself; FreshBooks' own 5xx (its body, not the app's problem) is counted as passed on.
    /// </summary>
    private sealed class ProxyCaller : ICaller
    {
        private const string Route = "GET /api/connections/{id}/freshbooks/{**path}";

        public string Name => "proxy";

        public async Task RunAsync(SoakStack stack, Customers customers, Random random, CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(random.Next(200, 800), cancellationToken);
                var customer = customers.Pick(random);
                var me = await ProxyAsync(stack, customer, "auth/api/v1/users/me", random, cancellationToken);
                var account = me?.GetProperty("response").GetProperty("business_memberships").EnumerateArray()
                    .Select(m => m.GetProperty("business").GetProperty("account_id"))
                    .Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()).FirstOrDefault();
                if (account is not null)
                {
                    await ProxyAsync(stack, customer, $"accounting/account/{account}/users/clients", random, cancellationToken);
                }
            }
        }

        /// <summary>The answer's JSON when it was a 200; null otherwise (or when no instance answered).</summary>
        private static async Task<JsonElement?> ProxyAsync(SoakStack stack, Customer customer, string path, Random random, CancellationToken cancellationToken)
        {
            if (stack.PickUp(random) is not { } instance)
            {
                return null;
            }

            var uri = new Uri(instance.BaseUri, $"api/connections/{customer.ConnectionId}/freshbooks/{path}");
            using var response = await stack.SendAsync(instance, new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken);
            if (response is null)
            {
                return null;
            }

            if ((int)response.StatusCode >= 500 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                stack.Answers.PassedOn(Route, response);
                return null;
            }

            await stack.Answers.RecordAsync(Route, instance.Index, response);
            customer.ToldToReconsent |= response.StatusCode == HttpStatusCode.Conflict;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }

            try
            {
                return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // The instance went away in the middle of the answer (killed or stopped).
                stack.Answers.NoAnswer(instance.IsUp);
                return null;
            }
            catch (JsonException)
            {
                stack.Answers.Broken(Route, instance.Index, "200 whose body is not FreshBooks' JSON (cut short or empty)");
                return null;
            }
        }
    }

    /// <summary>
    /// Uses a token on FreshBooks' API for a while, as a SaaS backend does; when FreshBooks answers 401 it reports the token with
    /// <c>POST /api/connections/{id}/refresh</c> and goes on with the one it gets back. While settling it walks every connection
    /// in turn, so a token the app believes good for hours (an odd answer's assumed lifetime) is found and replaced.
    /// </summary>
    private sealed class RejectedTokenCaller(bool settling) : ICaller
    {
        private static int _next;

        public string Name => "401-refresh";

        public async Task RunAsync(SoakStack stack, Customers customers, Random random, CancellationToken cancellationToken)
        {
            using var freshBooks = new HttpClient { BaseAddress = stack.Emulator.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
            while (!cancellationToken.IsCancellationRequested)
            {
                var all = customers.All.OrderBy(c => c.ConnectionId, StringComparer.Ordinal).ToList();
                var customer = settling ? all[(int)((uint)Interlocked.Increment(ref _next) % all.Count)] : customers.Pick(random);
                if (await GetTokenAsync(stack, customer, random, cancellationToken) is not { } held)
                {
                    await Task.Delay(random.Next(100, 400), cancellationToken);
                    continue;
                }

                var token = held.Token;
                var until = DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(settling ? 0 : random.Next(0, 10_000));
                do
                {
                    using var call = new HttpRequestMessage(HttpMethod.Get, $"accounting/account/{held.AccountId ?? "AEL001"}/users/clients");
                    call.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    using var answer = await freshBooks.SendAsync(call, cancellationToken);
                    if (answer.StatusCode == HttpStatusCode.Unauthorized && await ReportRejectedAsync(stack, customer, token, random, cancellationToken) is { } newer)
                    {
                        token = newer;
                    }

                    await Task.Delay(random.Next(500, 2000), cancellationToken);
                }
                while (DateTimeOffset.UtcNow < until);
            }
        }

        private static async Task<string?> ReportRejectedAsync(SoakStack stack, Customer customer, string token, Random random, CancellationToken cancellationToken)
        {
            if (stack.PickUp(random) is not { } instance)
            {
                return null;
            }

            var askedAt = DateTimeOffset.UtcNow;
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(instance.BaseUri, $"api/connections/{customer.ConnectionId}/refresh"))
            {
                Content = JsonContent.Create(new { accessToken = token }),
            };
            using var response = await stack.SendAsync(instance, request, cancellationToken);
            if (response is null)
            {
                return null;
            }

            await stack.Answers.RecordAsync("POST /api/connections/{id}/refresh", instance.Index, response);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }

            var newer = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString()!;
            CheckServed(stack, "POST /api/connections/{id}/refresh", instance.Index, customer.ConnectionId, newer, askedAt);
            return newer;
        }
    }
}
