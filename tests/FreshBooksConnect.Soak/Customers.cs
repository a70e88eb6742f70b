using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;

namespace FreshBooksConnect.Soak;

/// <summary>What the soak believes of one tenant's connection.</summary>
internal sealed class Customer(string tenantId, string connectionId)
{
    public string TenantId { get; } = tenantId;

    public string ConnectionId { get; } = connectionId;

    /// <summary>A consent went through (the callback said "connected") at least once.</summary>
    public bool Connected { get; set; }

    /// <summary>A DELETE answered 204 (or 404) and no consent came after it.</summary>
    public bool Deleted { get; set; }

    /// <summary>The token API answered 409 (needs a new consent) since the last consent: the SaaS asks this customer first.</summary>
    public bool ToldToReconsent { get; set; }

    /// <summary>A DELETE was asked for and has not finished yet.</summary>
    public bool RemovalPending { get; set; }

    /// <summary>An onboarding, reconsent or removal is under way: the soak starts no other one for this tenant meanwhile.</summary>
    public int Busy;
}

/// <summary>
/// The SaaS and its customers: onboarding links, the full consent (Start, FreshBooks' Allow through the emulator's admin
/// approve, Callback, each on an instance of the soak's choice, with one browser's cookies), reconsents, deletes, and grants
/// revoked at FreshBooks as a customer disconnecting the app there would.
/// </summary>
internal sealed partial class Customers(SoakStack stack)
{
    private readonly ConcurrentDictionary<string, Customer> _customers = new(StringComparer.Ordinal);
    private int _consents;
    private int _consentsFailed;
    private int _removals;
    private int _revokes;

    public IReadOnlyCollection<Customer> All => [.. _customers.Values];

    public int Consents => Volatile.Read(ref _consents);

    public int ConsentsFailed => Volatile.Read(ref _consentsFailed);

    public int Removals => Volatile.Read(ref _removals);

    public int Revokes => Volatile.Read(ref _revokes);

    public Customer Pick(Random random)
    {
        var all = _customers.Values.OrderBy(c => c.ConnectionId, StringComparer.Ordinal).ToList();
        return all[random.Next(all.Count)];
    }

    /// <summary>Onboards the tenant (again): true when the callback said connected.</summary>
    public async Task<bool> ConsentAsync(string tenantId, Random random, CancellationToken cancellationToken)
    {
        var customer = _customers.GetOrAdd("t-" + tenantId, id => new Customer(tenantId, id));
        if (Interlocked.CompareExchange(ref customer.Busy, 1, 0) != 0)
        {
            return false;
        }

        try
        {
            var connected = await ConsentOnceAsync(customer, random, cancellationToken);
            if (connected)
            {
                Interlocked.Increment(ref _consents);
                customer.Connected = true;
                customer.Deleted = false;
                customer.ToldToReconsent = false;
            }
            else
            {
                Interlocked.Increment(ref _consentsFailed);
            }

            return connected;
        }
        finally
        {
            Volatile.Write(ref customer.Busy, 0);
        }
    }

    /// <summary>DELETE, repeated after a 503's Retry-After until it is done or <paramref name="cancellationToken"/> ends the wait.</summary>
    public async Task RemoveAsync(Customer customer, Random random, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref customer.Busy, 1, 0) != 0)
        {
            return;
        }

        try
        {
            customer.RemovalPending = true;
            while (!cancellationToken.IsCancellationRequested)
            {
                if (stack.PickUp(random) is { } instance)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri(instance.BaseUri, $"api/connections/{customer.ConnectionId}"));
                    using var response = await stack.SendAsync(instance, request, cancellationToken);
                    if (response is not null)
                    {
                        await stack.Answers.RecordAsync("DELETE /api/connections/{id}", instance.Index, response);
                        if (response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound)
                        {
                            customer.RemovalPending = false;
                            customer.Deleted = true;
                            Interlocked.Increment(ref _removals);
                            return;
                        }
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(2 + random.Next(3)), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The removal stays pending; the settle phase finishes it.
        }
        finally
        {
            Volatile.Write(ref customer.Busy, 0);
        }
    }

    /// <summary>Revokes the connection's grant at FreshBooks, as a customer disconnecting the app there: its next refresh gets invalid_grant.</summary>
    public async Task<bool> RevokeAtFreshBooksAsync(Customer customer, CancellationToken cancellationToken)
    {
        if (stack.Ledger.AnyRefreshTokenOf(customer.ConnectionId) is not { } token)
        {
            return false;
        }

        using var http = new HttpClient();
        using var response = await http.PostAsJsonAsync(
            new Uri(stack.Emulator.BaseUri, "auth/oauth/revoke"),
            new Dictionary<string, string> { ["client_id"] = SoakStack.ClientId, ["client_secret"] = stack.ClientSecret, ["token"] = token },
            cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return false;
        }

        stack.Ledger.Revoked(token, "soak");
        Interlocked.Increment(ref _revokes);
        return true;
    }

    private async Task<bool> ConsentOnceAsync(Customer customer, Random random, CancellationToken cancellationToken)
    {
        // The SaaS backend asks for a link.
        if (stack.PickUp(random) is not { } linkInstance)
        {
            return false;
        }

        using var linkRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(linkInstance.BaseUri, "api/onboarding-links"))
        {
            Content = JsonContent.Create(new { tenantId = customer.TenantId }),
        };
        using var linkResponse = await stack.SendAsync(linkInstance, linkRequest, cancellationToken);
        if (linkResponse is null)
        {
            return false;
        }

        await stack.Answers.RecordAsync("POST /api/onboarding-links", linkInstance.Index, linkResponse);
        if (linkResponse.StatusCode != HttpStatusCode.OK)
        {
            return false;
        }

        var link = new Uri((await linkResponse.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("url").GetString()!);
        stack.Watch.Add(link.AbsoluteUri, "an onboarding link");
        stack.Watch.Add(HttpUtility.ParseQueryString(link.Query)["link"] ?? "", "an onboarding link");

        // The customer's browser: one cookie jar for the one public host name, whichever instance answers.
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new SocketsHttpHandler { UseProxy = false, CookieContainer = cookies, AllowAutoRedirect = false })
        {
            Timeout = TimeSpan.FromSeconds(90),
        };
        if (stack.PickUp(random) is not { } startInstance)
        {
            return false;
        }

        // The link opens the page that names the tenant; the customer presses its button, on whichever instance answers.
        var page = await PageAsync(browser, "GET /api/connect", startInstance, new HttpRequestMessage(HttpMethod.Get, OnInstance(link, startInstance)), HttpStatusCode.OK, cancellationToken);
        if (page is null || stack.PickUp(random) is not { } continueInstance)
        {
            return false;
        }

        var fields = HiddenField().Matches(page.Value.Body)
            .Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups["name"].Value), WebUtility.HtmlDecode(m.Groups["value"].Value)))
            .ToList();
        foreach (var (name, value) in fields.Where(f => f.Key == "confirmation"))
        {
            stack.Watch.Add(value, "a page confirmation");
        }

        var press = new HttpRequestMessage(HttpMethod.Post, new Uri(continueInstance.BaseUri, "api/connect")) { Content = new FormUrlEncodedContent(fields) };
        press.Headers.Add("Sec-Fetch-Site", "same-origin");
        var consentUrl = (await PageAsync(browser, "POST /api/connect", continueInstance, press, HttpStatusCode.Found, cancellationToken))?.Target;
        if (consentUrl is null)
        {
            return false;
        }

        stack.Watch.Add(HttpUtility.ParseQueryString(consentUrl.Query)["state"] ?? "", "a consent state");
        foreach (Cookie cookie in cookies.GetAllCookies())
        {
            stack.Watch.Add(cookie.Value, "a consent cookie");
        }

        // FreshBooks: the customer clicks Allow.
        var redirect = await stack.Emulator.ApproveAsync(consentUrl, cancellationToken: cancellationToken);
        if (HttpUtility.ParseQueryString(redirect.Query)["code"] is not { } code)
        {
            return false;
        }

        stack.Ledger.RegisterCode(code, customer.ConnectionId);
        if (stack.PickUp(random) is not { } callbackInstance)
        {
            return false;
        }

        return await PageAsync(browser, "GET /api/callback", callbackInstance, new HttpRequestMessage(HttpMethod.Get, OnInstance(redirect, callbackInstance)), HttpStatusCode.OK, cancellationToken) is not null;
    }

    /// <summary>
    /// A browser request; the redirect's target (or the page's address) and the page when it answered <paramref name="expected"/>,
    /// else null.
    /// </summary>
    private async Task<(Uri Target, string Body)?> PageAsync(HttpClient browser, string route, AppInstance instance, HttpRequestMessage request, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            using (request)
            {
                response = await browser.SendAsync(request, cancellationToken);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            stack.Answers.NoAnswer(instance.IsUp);
            return null;
        }

        using (response)
        {
            await stack.Answers.RecordAsync(route, instance.Index, response);
            return response.StatusCode != expected
                ? null
                : (response.Headers.Location ?? response.RequestMessage!.RequestUri!, await response.Content.ReadAsStringAsync(cancellationToken));
        }
    }

    /// <summary>The same path and query on the chosen instance: instances share one public address, the soak is the load balancer.</summary>
    private static Uri OnInstance(Uri url, AppInstance instance) => new(instance.BaseUri, url.PathAndQuery);

    /// <summary>A hidden field of the link's page: its form carries the link and the page's confirmation.</summary>
    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();
}
