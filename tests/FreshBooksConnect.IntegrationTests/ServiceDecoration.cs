using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>Wraps the registered implementation of a service, so a test can act at an exact point of a real flow.</summary>
public static class ServiceDecoration
{
    public static IServiceCollection Decorate<TService>(this IServiceCollection services, Func<TService, IServiceProvider, TService> decorate)
        where TService : class
    {
        var inner = services.Last(d => d.ServiceType == typeof(TService));
        services.Remove(inner);
        services.Add(ServiceDescriptor.Describe(typeof(TService), sp => decorate(Create<TService>(inner, sp), sp), inner.Lifetime));
        return services;
    }

    private static TService Create<TService>(ServiceDescriptor descriptor, IServiceProvider services)
        where TService : class =>
        (TService)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
