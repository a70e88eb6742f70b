using FreshBooksConnect.Testing;

namespace FreshBooksConnect.LocalHost.Tests;

/// <summary>One Azurite for every test that polls real queues.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
