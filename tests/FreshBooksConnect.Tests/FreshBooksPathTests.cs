using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.Proxy;

namespace FreshBooksConnect.Tests;

public sealed class FreshBooksPathTests
{
    private static readonly FreshBooksIdentity Ada = new(
        1843, "u", "Ada", "Lovelace", "ada@example.com",
        [new BusinessMembership(1, "owner", 77001, "b1", "Analytical Engines Ltd.", "AEL001"), new BusinessMembership(2, "manager", 77002, "b2", "Lecture Tours", null)]);

    [Theory]
    [InlineData("accounting/account/AEL001/users/clients", FreshBooksPathScope.Account, "AEL001")]
    [InlineData("accounting/account/AEL001/invoices/invoices/1001", FreshBooksPathScope.Account, "AEL001")]
    [InlineData("payments/account/AEL001/invoice/1001/online_payment_options", FreshBooksPathScope.Account, "AEL001")]
    [InlineData("projects/business/77001/projects", FreshBooksPathScope.Business, "77001")]
    [InlineData("timetracking/business/77002/time_entries", FreshBooksPathScope.Business, "77002")]
    [InlineData("comments/business/77001/services", FreshBooksPathScope.Business, "77001")]
    [InlineData("auth/api/v1/users/me", FreshBooksPathScope.Identity, null)]
    public void The_API_families_are_allowed_for_the_connections_own_accounts_and_businesses(string path, FreshBooksPathScope scope, string? id)
    {
        Assert.True(FreshBooksPath.TryParse(path, out var parsed));
        Assert.Equal((scope, id), (parsed.Scope, parsed.ScopeId));
        Assert.True(parsed.IsReachableBy(Ada));
    }

    [Theory]
    [InlineData("accounting/account/GHC701/users/clients")]
    [InlineData("accounting/account/ael001/users/clients")]
    [InlineData("payments/account/GHC701/invoice/1")]
    [InlineData("projects/business/7001/projects")]
    [InlineData("comments/business/770011/services")]
    public void Another_customers_account_or_business_is_not_reachable(string path)
    {
        Assert.True(FreshBooksPath.TryParse(path, out var parsed));
        Assert.False(parsed.IsReachableBy(Ada));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("auth/oauth/token")]
    [InlineData("auth/oauth/revoke")]
    [InlineData("auth/api/v1/users/me/")]
    [InlineData("auth/api/v1/users")]
    [InlineData("accounting/account/AEL001")]
    [InlineData("accounting/account/AEL001/")]
    [InlineData("accounting/account//users/clients")]
    [InlineData("accounting/account/AEL001/../GHC701/users")]
    [InlineData("accounting/account/AEL001/./users")]
    [InlineData("accounting/account/AEL001%2F..%2FGHC701/users")]
    [InlineData("accounting/account/AEL001/users/clients?x=1")]
    [InlineData("accounting/account/AEL 001/users")]
    [InlineData("accounting/account/AEL001\\..\\x/users")]
    [InlineData("Accounting/account/AEL001/users/clients")]
    [InlineData("/accounting/account/AEL001/users/clients")]
    [InlineData("payments/business/77001/x")]
    [InlineData("projects/business/77001a/projects")]
    [InlineData("events/account/AEL001/events/callbacks")]
    [InlineData("uploads/account/AEL001/images")]
    public void Anything_else_is_not_a_path_the_proxy_forwards(string? path) => Assert.False(FreshBooksPath.TryParse(path, out _));

    [Fact]
    public void A_path_too_long_is_not_forwarded() =>
        Assert.False(FreshBooksPath.TryParse("accounting/account/AEL001/" + string.Join('/', Enumerable.Repeat("users", 300)), out _));
}
